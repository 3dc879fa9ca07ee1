FROM node:20 AS prod
USER node
