"""Identity resolution: link furnished identities to one subject per person or organisation."""
