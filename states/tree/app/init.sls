# The application containers.  Filled in by the containers work (issue 4):
# docker_image.present and docker_container.running with the image tag the
# device's channel grain selects.  Until then this SLS only records which
# image the device would run.
app-image-choice:
  file.managed:
    - name: /etc/fleet-app/image
    - makedirs: True
    - contents: {{ pillar.get('app:images', {}).get(grains.get('channel', 'live'), 'app:live') }}
