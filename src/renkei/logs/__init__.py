"""Web-server and system log analysis (iLogScanner, GSOC log analysis)."""
