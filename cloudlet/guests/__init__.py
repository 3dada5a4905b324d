"""What cloudlet tells a compute driver about a guest for console and metrics calls."""
