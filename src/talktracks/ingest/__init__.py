"""Reading and validating what users hand us: manifests, transcripts, CRM deals."""
