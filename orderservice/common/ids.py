"""Identifier formats of the domain: what a product id may be, whatever the channel."""

# A SKU: 1 to 64 characters of A-Z a-z 0-9 . _ -
PRODUCT_ID_REGEX = r"^[A-Za-z0-9._-]{1,64}$"
