"""pipegraph: a self-hosted continuous-delivery control plane exposed as one GraphQL API."""

__version__ = "0.1.0"
