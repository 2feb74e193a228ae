"""Collector kinds: `registry` maps each `type` to its config model and collector class; one
package per kind; `base` and `families` are what every kind shares."""
