"""sharing domain: TLP policy (policy.py) now; STIX, sanitising, TAXII and MISP to come."""
