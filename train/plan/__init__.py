"""`make plan`: what a recipe's run would look like on given GPUs, and whether it would work, before it starts."""
