"""liveart: live neural visuals (Deep Dream and style transfer) for stage and gallery."""

__version__ = "0.1.0"
