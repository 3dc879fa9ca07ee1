# The shared modules this workspace loads (docs/modules.md).
module(name = "example/modules")

# A team's shared macros, loaded as @greet//greet.star.
dep("greet", repo = "https://github.com/ferryhq/ferry-greet.git", version = "v1.0.0")

# What @greet may do: its macros declare tasks.
grant("greet", permissions = ["commands"])

# Develop the module beside the workspace: its files come from greet/,
# unpinned, with nothing fetched (and every permission).
override("greet", path = "greet")
