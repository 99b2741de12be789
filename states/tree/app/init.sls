# The application containers.  The image comes from pillar, which maps each
# release channel to an image tag (pillar/channel_*.sls, chosen by the
# device's `channel` grain), so rolling out means: push the new image under
# the staging tag, apply to the staging devices, then move the live tag.
# ((image)) and ((rfid_device)) are resolved from pillar, then grains.
fleetvalid-rfid-image:
  docker_image.present:
    - name: ((image))
    - force: True

fleetvalid-rfid:
  docker_container.running:
    - image: ((image))
    - binds:
      - ((rfid_device)):((rfid_device))
    - environment:
      - RCAGGREGATOR: aggregator:9091
      - POWER_API: power:80
