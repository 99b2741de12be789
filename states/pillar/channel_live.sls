image: registry.example.net/app:live
