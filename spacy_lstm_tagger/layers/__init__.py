"""The torch modules and the thinc layers that wrap them."""
