"""doorctl: an open network door controller for the Raspberry Pi."""

__version__ = "0.1.0"
PRODUCT_NAME = "doorctl"
