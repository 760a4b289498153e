"""Training: the run as one event generator (trainer), recipes as files, the device and precision, the background
thread and the training queue the app uses."""
