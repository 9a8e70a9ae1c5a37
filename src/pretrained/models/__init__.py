"""Example models shipped with pretrained: ResNet (timm layout) and a BERT-layout encoder, in all three backends."""
