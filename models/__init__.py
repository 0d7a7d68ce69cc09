"""Model definitions: the YAML model spec (`models.spec`) and the Keras 3 builder (`models.builder`)."""
