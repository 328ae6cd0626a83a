"""Process hardening shared by every server: start-up checks, log redaction, rate limits."""
