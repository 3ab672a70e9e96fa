"""`python -m recipes ...` is the `reasonlift` command line (for a checkout whose scripts are not on PATH)."""

from recipes.cli import main

if __name__ == "__main__":
    main()
