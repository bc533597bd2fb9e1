# packaging/: dependency installer, install rules. Guest image rules come later.
