"""The store tier: wrappers.transfer against real servers started from npm (Azurite, s3rver)
and moto's S3 server, marker ``azurite``.

What belongs here: behaviour that needs a server — the store contract
(``test_store_contract.py``, every test once per server) and what only one server can show
(``test_s3_multipart_resume.py``: S3 resume needs ListParts, which s3rver lacks). What must not:
pure logic such as URI parsing, settings or manifests (tests/unit, no server needed), or
helpers (tests/support).
"""
