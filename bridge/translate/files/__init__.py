"""The data contract: which worker folders a task reads and writes, found statically."""
