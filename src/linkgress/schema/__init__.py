"""Schema management: snapshot values, operations, DDL rendering, execution, the manager."""
