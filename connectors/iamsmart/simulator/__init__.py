"""A strict iAM Smart sandbox simulator (``idbridge iamsmart-sim``).

Owns: the registered-clients and personas files (``config``), the in-process state
(``state``), the signed JSON API (``api``), the pages standing in for the iAM Smart app
(``pages``) and the app factory (``app``). It implements the public facts of
domain-facts §1 and answers every violation with a D-code (``connectors.iamsmart.errors``);
where it has to guess, ``docs/iamsmart.md`` says so.

May import: ``connectors.iamsmart.{crypto,signing,errors,sources,attributes}`` (the wire
format), ``federation.web`` and ``federation.logs``. Never the connector's client: the
simulator checks the wire format independently of the code it tests.
"""
