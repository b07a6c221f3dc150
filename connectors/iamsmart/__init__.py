"""The iAM Smart (智方便) connector and its sandbox simulator (domain-facts §1).

Owns: the config model and factory (``config``), request signing (``signing``), the
CEK/AES-GCM framing (``crypto``), the D-code table (``errors``), the attribute name
translation (``attributes``), the async API client (``client``), the connector the journey
uses (``connector``) and the simulator (``connectors.iamsmart.simulator``).

May import: ``connectors.base``, ``federation.identity``, ``federation.storage``,
``federation.logs``, ``federation.settings``, ``federation.untrusted``. Never the journey,
front ends, mappings or consent. The simulator imports only this package's protocol modules
(never the client), so that it checks the wire format independently.
"""
