"""`privlab analyze` and the readers built on it: the stages (`stages`), tables (`load`), evidence (`evidence`)."""
