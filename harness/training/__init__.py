"""The one training engine every defense runs in (see ``engine.train``)."""
