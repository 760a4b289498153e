"""`python -m lenet.train`: train a LeNet (or replay a recipe) and save a checkpoint. The trainer and the command
line live in lenet.training.trainer."""
import sys

from lenet.training.trainer import main

if __name__ == "__main__":
    sys.exit(main())
