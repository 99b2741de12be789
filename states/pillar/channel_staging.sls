image: registry.example.net/app:staging
