"""Ingest: furnished files in, validated records to the lake, bad rows to quarantine.

Use `openbureau.ingest.service` (add_furnisher, ingest_file, FileRejected, Receipt). This
package file imports nothing, so the national-id worker process starts light."""
