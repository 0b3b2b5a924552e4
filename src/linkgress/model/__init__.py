"""The model layer: entity classes, column types, fluent configuration, frozen metadata."""
