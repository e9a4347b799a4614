"""The disclosure attacker of tests/test_disclosure_attack.py: ``collect`` gathers every figure a
scope obtains from the real query functions and the API, ``solver`` decides which hidden cells
those figures pin, ``realgeo`` builds a database on the real 2024 buurt geography."""
