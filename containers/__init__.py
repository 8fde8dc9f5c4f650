"""Long-running containers (Fargate): the voice bridge."""
