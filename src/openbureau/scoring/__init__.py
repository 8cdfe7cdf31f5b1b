"""The scorecard: fit, 300-900 scaling, reasons, pillar sub-scores, publication."""
