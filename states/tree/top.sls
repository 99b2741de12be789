# The provisioning of a new device, in the order an operator runs it.
base:
  '*':
    - base
    - users
    - network
    - bus
    - runtime
    - vpn
    - app
