base:
  '*':
    - common
  'G@channel:staging':
    - match: compound
    - staging
