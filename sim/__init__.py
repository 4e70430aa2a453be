"""streetsim: agent-based simulation of street-level workload and staffing."""

__version__ = "0.1.0"
