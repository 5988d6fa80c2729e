"""Database plumbing no app owns: model instances from hand-written SQL rows."""
