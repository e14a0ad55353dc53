"""What pages share: the base layout, navigation, language, security headers, assets."""
