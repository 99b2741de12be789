base:
  '*':
    - common
  # The release channel picks the application image.
  'G@channel:staging':
    - match: compound
    - staging
    - channel_staging
  'G@channel:live':
    - match: compound
    - channel_live
