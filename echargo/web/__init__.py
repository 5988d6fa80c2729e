"""Web plumbing no app owns: the staff site's middleware chain, chunked request bodies."""
