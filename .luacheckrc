std = "max"
max_line_length = 120
exclude_files = { "build/", "bench/peers/" }
files["spec/"] = { std = "+busted" }
