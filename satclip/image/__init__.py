"""Image encoders: random convolutional features, ResNet/ViT backbones (timm key layout), a small CNN."""
