terraform {
  cloud {
    organization = "example"
    workspaces {
      name = "w"
    }
  }
}
