module(name = "greet")
