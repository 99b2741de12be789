bus:
  topic_prefix: fleet/staging
