"""Use cases: short functions named after what the user does. They reach the store through a UnitOfWork."""
