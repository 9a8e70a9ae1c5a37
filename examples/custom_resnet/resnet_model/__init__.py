"""A user's model package, as in the custom-models guide: a config and a ResNet for PyTorch, TensorFlow and Flax.

Import the module you need (`resnet_model.modeling_resnet`, ...): importing the package imports no framework.
"""
