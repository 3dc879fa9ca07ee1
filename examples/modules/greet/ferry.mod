# The module's own ferry.mod: its name, and what it needs from the
# workspaces that use it (its macros declare tasks, which run commands).
module(name = "greet", permissions = ["commands"])
