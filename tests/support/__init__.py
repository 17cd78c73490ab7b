"""Helpers shared by test modules: servers (Azurite, s3rver), the fault-injecting proxy, test
payloads, free ports, store fixtures. Test modules import helpers from here, never from
another test module."""
