"""The test suite, one folder per tier and named for what it tests.

- ``unit/``: no Docker, no npm servers; pure logic, in-process engines, tiny models in tmp_path.
- ``integration/`` (marker ``slow``): real ``mlflow models serve`` next to the fast engine.
- ``stores/`` (marker ``azurite``): transfers against Azurite and the S3 stand-in from npm.
- ``universal/`` (marker ``azurite``): the UniversalModelWrapper end to end on those stores.
- ``e2e/`` (marker ``e2e``): the real docker-compose stack.
- ``support/``: helpers shared by test modules (servers, fault proxy, payloads, ports,
  fixtures). Test modules import helpers from here, never from another test module.
"""
